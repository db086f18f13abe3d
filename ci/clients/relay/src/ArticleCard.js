// An article teaser a Relay app refetches on its own (@refetchable needs
// the Node interface and node(id:)).
import { graphql } from "relay-runtime";

export const articleCard = graphql`
  fragment ArticleCard_article on Article
  @refetchable(queryName: "ArticleCardRefetchQuery") {
    id
    title
    summary(length: 60)
    viewCount
    commentCount
  }
`;
