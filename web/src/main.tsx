import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router';
import { App } from './App';
import { ApiError, setCsrfToken } from './api/client';
import './styles.css';

const queryClient: QueryClient = new QueryClient({
  // A 401 anywhere means the session ended (expired, or signed out in another tab): show the
  // sign-in page, which brings the user back here.
  queryCache: new QueryCache({
    onError: (error, query) => {
      if (error instanceof ApiError && error.status === 401 && query.queryKey[0] !== 'session') {
        setCsrfToken(null);
        queryClient.setQueryData(['session'], null);
      }
    },
  }),
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      // 4xx answers are final; retry only what may pass on a second try.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
    },
  },
});

// The server writes <base href> into index.html: the app's routes live under it.
const basename = new URL(document.baseURI).pathname.replace(/\/$/, '') || '/';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <BrowserRouter basename={basename}>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </StrictMode>,
  );
}
